import { useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react'
import { signOutEverywhere } from '../api/auth'
import { asApiError } from '../api/http'
import { clearSession, forgetToken, loadSession } from '../lib/storage'
import type { Session } from '../types'
import { SessionContext, type SessionState } from './sessionContext'

interface SessionProviderProps {
  children: ReactNode
  /** Set to this provider's `expire`, so the QueryClient's 401 handler can call it. */
  onExpireReady?: (expire: () => void) => void
}

const OFFLINE_SIGN_OUT =
  'You are signed out on this device. HireCJ could not be reached to end the sign-in ' +
  'everywhere; it ends by itself when it expires.'

/** Who is signed in, shared by every page; kept in step with other tabs through `storage` events. */
export function SessionProvider({ children, onExpireReady }: SessionProviderProps) {
  const queryClient = useQueryClient()
  const [session, setSession] = useState<Session | null>(() => loadSession())
  const [expired, setExpired] = useState(false)
  const [signOutNotice, setSignOutNotice] = useState<string | null>(null)

  const reload = useCallback(() => setSession(loadSession()), [])

  const expire = useCallback(() => {
    forgetToken()
    setSession(null)
    setExpired(true)
  }, [])

  const signOut = useCallback(async () => {
    const token = loadSession()?.token ?? null
    let notice: string | null = null
    if (token) {
      try {
        await signOutEverywhere(token)
      } catch (failure) {
        // 401/404 (already invalid, or an auth without sign-out): signing out here is enough.
        const error = asApiError(failure)
        if (error.status === null || error.status >= 500) notice = OFFLINE_SIGN_OUT
      }
    }
    clearSession()
    queryClient.clear()
    setSession(null)
    setExpired(false)
    setSignOutNotice(notice)
  }, [queryClient])

  const dismissSignOutNotice = useCallback(() => setSignOutNotice(null), [])

  useEffect(() => onExpireReady?.(expire), [onExpireReady, expire])

  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key === null || event.key.startsWith('hirecj_')) setSession(loadSession())
    }
    window.addEventListener('storage', onStorage)
    return () => window.removeEventListener('storage', onStorage)
  }, [])

  const value = useMemo<SessionState>(
    () => ({ session, expired, signOutNotice, reload, expire, signOut, dismissSignOutNotice }),
    [session, expired, signOutNotice, reload, expire, signOut, dismissSignOutNotice],
  )
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}
