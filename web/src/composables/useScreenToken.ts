// The office's screens open with a token link (?token=…): a refresh token from a login of the
// screen's account (lasts ESV_REFRESH_TOKEN_DAYS, rotated here and kept in this tab), or an access
// token. The link's token leaves the address bar at once; without one the page is the public one.
import { request } from '@/api/client'
import { session, signIn } from '@/api/session'
import { ScreenRefreshDocument } from '@/gql/types'

export async function useScreenToken(): Promise<boolean> {
  const url = new URL(location.href)
  const token = url.searchParams.get('token')
  if (token) {
    url.searchParams.delete('token')
    history.replaceState(history.state, '', url.pathname + url.search + url.hash)
    if (token !== Reflect.get(session, 'refreshToken') && token !== session.token) {
      try {
        const { refresh } = await request(ScreenRefreshDocument, { refreshToken: token })
        // the console's client trades the refresh token again when the access token expires
        const next = { ...session, token: refresh.accessToken, refreshToken: refresh.refreshToken, role: refresh.role,
          displayName: refresh.displayName, username: '' }
        signIn(next)
      } catch {
        // not a refresh token: an access token, used as it is until it expires
        const next = { ...session, token, refreshToken: null, role: null, displayName: '', username: '' }
        signIn(next)
      }
    }
  }
  return Boolean(session.token)
}
