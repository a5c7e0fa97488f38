import { createContext, useContext } from 'react'
import type { Session } from '../types'

export interface SessionState {
  /** The signed-in user, or null (anonymous, signed out, or the token was refused). */
  session: Session | null
  /** True after the server refused the token (401): "sign in again". */
  expired: boolean
  /** What the last sign-out wants the user to know (e.g. it only signed out this device). */
  signOutNotice: string | null
  /** Read localStorage again (after an OAuth return saved a new session). */
  reload: () => void
  /** The token was refused: forget it (the user id stays) and say so. */
  expire: () => void
  /** Tell auth to revoke the token, then forget the session whatever it answered. */
  signOut: () => Promise<void>
  dismissSignOutNotice: () => void
}

export const SessionContext = createContext<SessionState | null>(null)

export function useSession(): SessionState {
  const state = useContext(SessionContext)
  if (!state) throw new Error('useSession needs a <SessionProvider> (see AppProviders)')
  return state
}
