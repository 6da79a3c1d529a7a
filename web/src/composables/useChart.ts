// An ECharts instance bound to an element: created on mount, resized with its box, disposed on
// unmount (a screen that runs for days must not keep old charts alive).
import { onBeforeUnmount, onMounted, shallowRef, watch, type Ref } from 'vue'
import type { EChartsOption, ECharts } from 'echarts'

export function useChart(element: Ref<HTMLElement | null>, option: Ref<EChartsOption | null>, onClick?: (params: unknown) => void) {
  const chart = shallowRef<ECharts | null>(null)
  let observer: ResizeObserver | null = null

  onMounted(async () => {
    const echarts = await import('echarts')
    if (!element.value) return
    chart.value = echarts.init(element.value)
    if (onClick) chart.value.on('click', onClick)
    if (option.value) chart.value.setOption(option.value, true)
    observer = new ResizeObserver(() => chart.value?.resize())
    observer.observe(element.value)
  })

  watch(option, (value) => {
    if (value && chart.value) chart.value.setOption(value, true)
  })

  onBeforeUnmount(() => {
    observer?.disconnect()
    chart.value?.dispose()
    chart.value = null
  })

  return chart
}
