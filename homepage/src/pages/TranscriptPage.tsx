import { Link, useParams } from 'react-router'
import { asApiError } from '../api/http'
import { ApiErrorNotice } from '../components/ApiErrorNotice'
import { HistoryShell } from '../components/HistoryShell'
import { SignInPrompt } from '../components/SignInPrompt'
import { useConversationDetail } from '../hooks/historyQueries'
import { useDocumentTitle } from '../hooks/useDocumentTitle'
import { UNTITLED, condenseTitle, formatDateTime, workflowLabel } from '../lib/format'
import { useSession } from '../session/sessionContext'
import type { ConversationDetail } from '../types'

function transcriptTitle(detail: ConversationDetail): string {
  if (detail.title?.trim()) return detail.title.trim()
  const first = detail.messages.find((message) => message.sender === 'user')
  return first ? condenseTitle(first.content) : UNTITLED
}

export function TranscriptPage() {
  const { userId = '', conversationId = '' } = useParams()
  const { session, expired } = useSession()
  const query = useConversationDetail(userId, conversationId, session?.token ?? null)
  const detail = query.data
  const title = detail ? transcriptTitle(detail) : null
  useDocumentTitle(title ?? 'Conversation')

  if (!session) {
    return (
      <HistoryShell userId={userId}>
        <SignInPrompt expired={expired} />
      </HistoryShell>
    )
  }

  const listPath = `/history/${encodeURIComponent(userId)}`
  return (
    <HistoryShell userId={userId}>
      <section className="panel" aria-labelledby="transcript-title">
        <div className="panel__heading">
          <Link to={listPath} className="link-button" data-testid="back-to-history">
            ← All conversations
          </Link>
          {detail && (
            <Link
              to={`/chat/${encodeURIComponent(conversationId)}`}
              className="button button--primary"
              data-testid="continue-conversation"
            >
              Continue this chat
            </Link>
          )}
        </div>
        {query.isError && (
          <ApiErrorNotice error={asApiError(query.error)} onRetry={() => void query.refetch()} />
        )}
        {query.isPending && (
          <p className="muted" role="status" data-testid="loading">
            Loading the conversation…
          </p>
        )}
        {detail && (
          <>
            <h1 id="transcript-title" data-testid="transcript-title">
              {title}
            </h1>
            <p className="muted">
              {workflowLabel(detail.workflow)} · started {formatDateTime(detail.started_at)}
              {detail.ended_at ? ` · ended ${formatDateTime(detail.ended_at)}` : ''} ·{' '}
              {detail.messages.length} message{detail.messages.length === 1 ? '' : 's'}
            </p>
            {detail.messages.length === 0 ? (
              <p className="muted">This conversation has no messages.</p>
            ) : (
              <ol className="transcript">
                {detail.messages.map((message, index) => (
                  <li
                    key={`${index}-${message.timestamp}`}
                    className={`transcript__message transcript__message--${message.sender}`}
                    data-testid="transcript-message"
                    data-sender={message.sender}
                  >
                    <div className="transcript__head">
                      <strong>{message.sender === 'cj' ? 'CJ' : 'You'}</strong>
                      <time dateTime={message.timestamp}>{formatDateTime(message.timestamp)}</time>
                    </div>
                    <p className="transcript__text">{message.content}</p>
                  </li>
                ))}
              </ol>
            )}
          </>
        )}
      </section>
    </HistoryShell>
  )
}
