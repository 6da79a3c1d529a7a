// An ECharts instance bound to an element: created once the element and an option exist,
// resized with its box, disposed on unmount (a screen that runs for days must not keep old
// charts alive).
import { onBeforeUnmount, shallowRef, watch, type Ref } from 'vue'
import type { EChartsOption, ECharts } from 'echarts'

export function useChart(element: Ref<HTMLElement | null>, option: Ref<EChartsOption | null>, onClick?: (params: unknown) => void) {
  const chart = shallowRef<ECharts | null>(null)
  let observer: ResizeObserver | null = null
  let disposed = false

  async function draw() {
    const target = element.value
    const value = option.value
    if (!target || !value) return
    if (chart.value && chart.value.getDom() !== target) release()
    if (!chart.value) {
      const echarts = await import('echarts')
      if (disposed || element.value !== target || chart.value) return
      chart.value = echarts.init(target)
      if (onClick) chart.value.on('click', onClick)
      observer = new ResizeObserver(() => chart.value?.resize())
      observer.observe(target)
    }
    chart.value.setOption(value, true)
  }

  function release() {
    observer?.disconnect()
    observer = null
    chart.value?.dispose()
    chart.value = null
  }

  watch([element, option], () => void draw(), { flush: 'post' })

  onBeforeUnmount(() => {
    disposed = true
    release()
  })

  return chart
}
