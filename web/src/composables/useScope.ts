// What the logged-in viewer may see (me + the catalogue), for labels and for narrowing the
// public city-wide overview to the viewer's rows. The API enforces the scope; this only shows it.
import { ref } from 'vue'
import { request } from '@/api/client'
import { session } from '@/api/session'
import { DepartmentsDocument, MeDocument, WindowsDocument, type DepartmentsQuery, type MeQuery } from '@/gql/types'

type Department = DepartmentsQuery['departments'][number]

export interface Scope {
  me: MeQuery['me']
  label: string
  centers: DepartmentsQuery['centers']
  departments: Department[]
  centerIdByCode: Map<string, string>
  /** `${center name}|${department code}` → department (the overview's rows name their center). */
  departmentByKey: Map<string, Department>
  showsCenter(id: string | null): boolean
  showsDepartment(id: string | null): boolean
}

let cached: { token: string | null; scope: Promise<Scope> } | null = null

async function loadScope(): Promise<Scope> {
  const [{ me }, catalogue] = await Promise.all([request(MeDocument), request(DepartmentsDocument)])
  const centerIdByCode = new Map(catalogue.centers.map((center) => [center.code, center.id]))
  const departmentByKey = new Map(catalogue.departments.map((d) => [`${d.center.name}|${d.code}`, d]))
  let label = '全部中心'
  if (me.role === 'CENTER_ADMIN') label = catalogue.centers.find((c) => c.id === me.centerId)?.name ?? '本中心'
  if (me.role === 'DEPARTMENT_LEADER' || me.role === 'WINDOW_STAFF') {
    label = catalogue.departments.find((d) => d.id === me.departmentId)?.name ?? '本部门'
  }
  if (me.role === 'WINDOW_STAFF' && me.departmentId) {
    const { windows } = await request(WindowsDocument, { departmentId: me.departmentId })
    const window = windows.find((w) => w.id === me.windowId)
    if (window) label = `${label} ${window.name}`
  }
  const everything = me.role === 'SUPERVISOR'
  return {
    me,
    label,
    centers: catalogue.centers,
    departments: catalogue.departments,
    centerIdByCode,
    departmentByKey,
    showsCenter: (id) => everything || (me.role === 'CENTER_ADMIN' && id === me.centerId),
    showsDepartment: (id) => {
      if (everything) return true
      if (me.role === 'CENTER_ADMIN') return catalogue.departments.some((d) => d.id === id && d.center.id === me.centerId)
      // a window's staff see their window's cases, not the department's whole count
      return me.role === 'DEPARTMENT_LEADER' && id === me.departmentId
    },
  }
}

export function useScope() {
  const scope = ref<Scope | null>(null)
  async function load() {
    if (!cached || cached.token !== session.token) cached = { token: session.token, scope: loadScope() }
    try {
      scope.value = await cached.scope
    } catch (error) {
      cached = null
      throw error
    }
  }
  return { scope, load }
}
