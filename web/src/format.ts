// How instants, lights and rates read on every page: Beijing time, Chinese words.
import type { Light, LightFilter } from '@/gql/types'

const TIME = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
})
const DAY = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' })

/** 2026/12/08 10:45 (Beijing time); '—' for none. */
export function localTime(iso: string | null | undefined): string {
  return iso ? TIME.format(new Date(iso)) : '—'
}

export function localDay(iso: string | null | undefined): string {
  return iso ? DAY.format(new Date(iso)) : '—'
}

/** The date (YYYY-MM-DD) in Beijing, `offsetDays` from today. */
export function beijingDate(offsetDays = 0): string {
  const shifted = new Date(Date.now() + offsetDays * 86_400_000)
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(shifted)
}

export const LIGHT_LABELS: Record<Light | LightFilter, string> = {
  RED: '红灯', YELLOW: '黄灯', WHITE: '白灯', PAUSED: '暂停',
}

export function percent(rate: number | null | undefined): string {
  return rate == null ? '—' : `${(rate * 100).toFixed(1)}%`
}

/** Time left until `iso` (or overdue by), in days and hours: what a window or a supervisor acts on. */
export function timeLeft(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—'
  const ms = new Date(iso).getTime() - now
  const hours = Math.floor(Math.abs(ms) / 3_600_000)
  const text = hours >= 24 ? `${Math.floor(hours / 24)}天${hours % 24}小时` : `${hours}小时`
  return ms >= 0 ? `剩余${text}` : `超期${text}`
}
