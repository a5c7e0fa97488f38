import type { ReactNode } from 'react'
import { Link, useNavigate } from 'react-router'
import { useSession } from '../session/sessionContext'
import { ProfileHeader } from './ProfileHeader'

interface HistoryShellProps {
  userId: string
  children: ReactNode
}

/** The frame around the history pages: back to chat, whose history, sign out. */
export function HistoryShell({ userId, children }: HistoryShellProps) {
  const navigate = useNavigate()
  const { session, signOut } = useSession()
  return (
    <main className="page">
      <header className="page__header">
        <Link to="/chat" className="button button--ghost" data-testid="back-to-chat">
          ← Back to chat
        </Link>
        {session && (
          <button
            type="button"
            className="button button--ghost"
            data-testid="sign-out"
            onClick={() => {
              void signOut().then(() => navigate('/chat'))
            }}
          >
            Sign out
          </button>
        )}
      </header>
      {session && <ProfileHeader userId={userId} session={session} />}
      {children}
    </main>
  )
}
