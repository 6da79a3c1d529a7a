// Calls `refresh` shortly after light changes in the viewer's scope (the lightChanged
// subscription), and every `fallbackMs` in case the socket was down: counts and lists stay live
// without a reload. Bursts of changes (midnight) cost one refresh.
import { onBeforeUnmount, onMounted, ref } from 'vue'
import { subscribe, type Subscription } from '@/api/live'
import { LightChangedDocument, type LightChangedSubscription } from '@/gql/types'

export function useLightChanges(
  refresh: () => Promise<void> | void,
  { debounceMs = 100, fallbackMs = 60_000 } = {},
) {
  const lastChange = ref<LightChangedSubscription['lightChanged'] | null>(null)
  let subscription: Subscription | null = null
  let timer: ReturnType<typeof setTimeout> | null = null
  let poll: ReturnType<typeof setInterval> | null = null

  const schedule = () => {
    if (timer) return
    timer = setTimeout(() => {
      timer = null
      void refresh()
    }, debounceMs)
  }

  onMounted(() => {
    // Only changes from now on: the page has just read the current state.
    subscription = subscribe(LightChangedDocument, { after: null }, (data) => {
      lastChange.value = data.lightChanged
      schedule()
    }, { cursorOf: (data) => data.lightChanged.cursor })
    poll = setInterval(() => void refresh(), fallbackMs)
  })

  onBeforeUnmount(() => {
    subscription?.stop()
    if (timer) clearTimeout(timer)
    if (poll) clearInterval(poll)
  })

  return { lastChange }
}
