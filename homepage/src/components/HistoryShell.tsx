import type { ReactNode } from 'react'
import { Link, useNavigate } from 'react-router'
import { clearSession } from '../lib/storage'
import type { Session } from '../types'
import { ProfileHeader } from './ProfileHeader'

interface HistoryShellProps {
  session: Session | null
  userId: string
  children: ReactNode
}

/** The frame around the history pages: back to chat, who is signed in, sign out. */
export function HistoryShell({ session, userId, children }: HistoryShellProps) {
  const navigate = useNavigate()
  const signOut = () => {
    clearSession()
    navigate('/chat')
  }
  return (
    <main className="page">
      <header className="page__header">
        <Link to="/chat" className="button button--ghost" data-testid="back-to-chat">
          ← Back to chat
        </Link>
        {session && (
          <button type="button" className="button button--ghost" data-testid="sign-out" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      {session && <ProfileHeader userId={userId} token={session.token} />}
      {children}
    </main>
  )
}
