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
