import { Link } from 'react-router'
import { formatDateTime, formatRelative, titleOf, workflowLabel } from '../lib/format'
import type { ConversationSummary } from '../types'
import { HighlightedSnippet } from './HighlightedSnippet'

interface ConversationRowProps {
  userId: string
  conversation: ConversationSummary
  deleting: boolean
  onDelete: (conversation: ConversationSummary) => void
}

/** One conversation on the history page: title, preview (or the search match), open, continue, delete. */
export function ConversationRow({ userId, conversation, deleting, onDelete }: ConversationRowProps) {
  const count = conversation.message_count ?? 0
  const title = titleOf(conversation)
  return (
    <li className="conversation-row" data-testid="conversation-row" data-conversation-id={conversation.id}>
      <Link
        className="conversation-row__link"
        to={`/history/${encodeURIComponent(userId)}/${encodeURIComponent(conversation.id)}`}
        data-testid="open-conversation"
      >
        <span className="conversation-row__title" data-testid="conversation-title">
          {title}
        </span>
        {conversation.snippet ? (
          <span className="conversation-row__preview" data-testid="conversation-snippet">
            <HighlightedSnippet text={conversation.snippet} />
          </span>
        ) : (
          conversation.preview && (
            <span className="conversation-row__preview" data-testid="conversation-preview">
              {conversation.preview}
            </span>
          )
        )}
        <span className="conversation-row__meta">
          <time dateTime={conversation.started_at ?? undefined} title={formatDateTime(conversation.started_at)}>
            {formatRelative(conversation.started_at) || formatDateTime(conversation.started_at)}
          </time>
          {' · '}
          {workflowLabel(conversation.workflow)}
          {' · '}
          <span data-testid="message-count">
            {count} message{count === 1 ? '' : 's'}
          </span>
          {!conversation.ended_at && ' · not ended'}
        </span>
      </Link>
      <div className="conversation-row__actions">
        <Link
          to={`/chat/${encodeURIComponent(conversation.id)}`}
          className="button button--secondary button--small"
          data-testid="continue-conversation"
          aria-label={`Continue “${title}”`}
        >
          Continue
        </Link>
        <button
          type="button"
          className="button button--danger-ghost button--small"
          data-testid="delete-conversation"
          aria-label={`Delete “${title}”`}
          disabled={deleting}
          onClick={() => onDelete(conversation)}
        >
          {deleting ? 'Deleting…' : 'Delete'}
        </button>
      </div>
    </li>
  )
}
