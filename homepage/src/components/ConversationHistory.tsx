import { Link } from 'react-router'

interface ConversationHistoryProps {
  userId: string | null
  token: string | null
}

/** The guide's "View conversation history" button: only for a signed-in user. */
export function ConversationHistory({ userId, token }: ConversationHistoryProps) {
  if (!userId || !token) return null
  return (
    <Link
      to={`/history/${encodeURIComponent(userId)}`}
      className="button button--secondary"
      data-testid="history-button"
    >
      View conversation history
    </Link>
  )
}
