// Who is logged in on this tab: the access token lives in sessionStorage (gone with the tab).
import { reactive } from 'vue'
import type { Role } from '@/gql/types'

const KEY = 'esv.session'

export interface Session {
  token: string | null
  refreshToken: string | null
  role: Role | null
  displayName: string
  username: string
}

function load(): Session {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null
    if (saved?.token) return saved
  } catch {
    // a damaged entry is a logged-out tab
  }
  return { token: null, refreshToken: null, role: null, displayName: '', username: '' }
}

export const session = reactive<Session>(load())

export function signIn(value: Session): void {
  Object.assign(session, value)
  sessionStorage.setItem(KEY, JSON.stringify(value))
}

export function signOut(): void {
  Object.assign(session, { token: null, refreshToken: null, role: null, displayName: '', username: '' })
  sessionStorage.removeItem(KEY)
}

export const ROLE_LABELS: Record<Role, string> = {
  SUPERVISOR: '监察人员',
  CENTER_ADMIN: '中心管理',
  DEPARTMENT_LEADER: '部门领导',
  WINDOW_STAFF: '窗口工作人员',
  DEPARTMENT_SYSTEM: '部门业务系统',
  APPLICANT: '申请人',
  PUBLIC: '公众',
}

/** Roles that supervise (urge, order, record faults); the API decides, the page only hides. */
export function supervises(role: Role | null): boolean {
  return role === 'SUPERVISOR' || role === 'CENTER_ADMIN'
}
