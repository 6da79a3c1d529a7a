// A newest-first list that never holds more than `limit` entries: screens run for days.
import { shallowRef } from 'vue'

export function useBoundedList<T>(limit: number) {
  const items = shallowRef<T[]>([])
  function push(item: T) {
    items.value = [item, ...items.value].slice(0, limit)
  }
  function clear() {
    items.value = []
  }
  return { items, push, clear }
}
