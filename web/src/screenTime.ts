// Days and instants as the center reads them (Asia/Shanghai), whatever the screen's own zone.
const ZONE = 'Asia/Shanghai'

/** YYYY-MM-DD of the local day `offset` days from now (0 today, -1 yesterday). */
export function localDay(offset = 0, now = Date.now()): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date(now + offset * 86_400_000))
  return parts
}

export function clockText(now = new Date()): string {
  const day = new Intl.DateTimeFormat('zh-CN', { timeZone: ZONE, year: 'numeric', month: 'long', day: 'numeric',
    weekday: 'short' }).format(now)
  const time = new Intl.DateTimeFormat('zh-CN', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit',
    hour12: false }).format(now)
  return `${day} ${time}`
}

export function timeText(instant: string | null | undefined): string {
  if (!instant) return ''
  return new Intl.DateTimeFormat('zh-CN', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit',
    hour12: false }).format(new Date(instant))
}

export function dateTimeText(instant: string | null | undefined): string {
  if (!instant) return '未定'
  return new Intl.DateTimeFormat('zh-CN', { timeZone: ZONE, month: '2-digit', day: '2-digit', hour: '2-digit',
    minute: '2-digit', hour12: false }).format(new Date(instant))
}

/** Time left until `due` as people say it: 剩余 2天3小时 / 超期 5小时. */
export function timeLeft(due: string | null | undefined, now = Date.now()): { text: string; overdue: boolean } {
  if (!due) return { text: '—', overdue: false }
  const ms = new Date(due).getTime() - now
  const abs = Math.abs(ms)
  const days = Math.floor(abs / 86_400_000)
  const hours = Math.floor((abs % 86_400_000) / 3_600_000)
  const minutes = Math.floor((abs % 3_600_000) / 60_000)
  const span = days > 0 ? `${days}天${hours}小时` : hours > 0 ? `${hours}小时${minutes}分` : `${minutes}分钟`
  return { text: ms >= 0 ? `剩余 ${span}` : `超期 ${span}`, overdue: ms < 0 }
}
