import { Link } from 'react-router'
import { formatDateTime, workflowLabel } from '../lib/format'
import type { ConversationSummary } from '../types'

interface ConversationRowProps {
  userId: string
  conversation: ConversationSummary
  deleting: boolean
  onDelete: (conversation: ConversationSummary) => void
}

export function ConversationRow({ userId, conversation, deleting, onDelete }: ConversationRowProps) {
  const count = conversation.message_count ?? 0
  return (
    <li className="conversation-row" data-testid="conversation-row" data-conversation-id={conversation.id}>
      <Link
        className="conversation-row__link"
        to={`/history/${encodeURIComponent(userId)}/${encodeURIComponent(conversation.id)}`}
        data-testid="open-conversation"
      >
        <span className="conversation-row__title">{workflowLabel(conversation.workflow)}</span>
        <span className="conversation-row__meta">
          <time dateTime={conversation.started_at ?? undefined}>
            {formatDateTime(conversation.started_at)}
          </time>
          {' · '}
          <span data-testid="message-count">
            {count} message{count === 1 ? '' : 's'}
          </span>
          {!conversation.ended_at && ' · not ended'}
        </span>
      </Link>
      <button
        type="button"
        className="button button--danger-ghost button--small"
        data-testid="delete-conversation"
        aria-label={`Delete conversation from ${formatDateTime(conversation.started_at)}`}
        disabled={deleting}
        onClick={() => onDelete(conversation)}
      >
        {deleting ? 'Deleting…' : 'Delete'}
      </button>
    </li>
  )
}
