// Every page of web/: esv serve answers these paths with index.html (history mode).
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { session } from '@/api/session'

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/console' },
  { path: '/login', name: 'login', component: () => import('@/pages/LoginPage.vue'), meta: { title: '登录' } },
  {
    path: '/console',
    component: () => import('@/pages/console/ConsoleLayout.vue'),
    meta: { requiresLogin: true },
    children: [
      { path: '', name: 'console', component: () => import('@/pages/console/LightsPage.vue'), meta: { title: '实时亮灯' } },
      { path: 'cases', name: 'cases', component: () => import('@/pages/console/CasesPage.vue'), meta: { title: '办件查询' } },
      { path: 'cases/:number', name: 'case', component: () => import('@/pages/console/CasePage.vue'), props: true, meta: { title: '全程跟踪' } },
      { path: 'orders', name: 'orders', component: () => import('@/pages/console/OrdersPage.vue'), meta: { title: '催办督办' } },
      { path: 'statistics', name: 'statistics', component: () => import('@/pages/console/StatisticsPage.vue'), meta: { title: '效能统计' } },
      { path: 'accountability', name: 'accountability', component: () => import('@/pages/console/AccountabilityPage.vue'), meta: { title: '责任追究' } },
      { path: 'public', name: 'public', component: () => import('@/pages/console/PublicPage.vue'), meta: { title: '投诉与评价' } },
      { path: 'reports', name: 'reports', component: () => import('@/pages/console/ReportsPage.vue'), meta: { title: '效能公开' } },
      { path: 'video', name: 'video', component: () => import('@/pages/console/VideoPage.vue'), meta: { title: '电子眼' } },
    ],
  },
  // Big screen and window light board: public pages (the office's screen adds ?token=…).
  { path: '/screen', name: 'screen', component: () => import('@/pages/screen/ScreenPage.vue'), meta: { title: '大屏' } },
  { path: '/window/:code', name: 'window', component: () => import('@/pages/window/WindowBoard.vue'), props: true, meta: { title: '窗口亮灯' } },
  { path: '/:rest(.*)*', name: 'not-found', component: () => import('@/pages/NotFound.vue'), meta: { title: '页面不存在' } },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach((to) => {
  if (to.matched.some((route) => route.meta.requiresLogin) && !session.token) {
    return { name: 'login', query: { next: to.fullPath } }
  }
  return true
})

router.afterEach((to) => {
  const title = typeof to.meta.title === 'string' ? to.meta.title : ''
  document.title = title ? `${title} · 电子监察` : '电子监察'
})
