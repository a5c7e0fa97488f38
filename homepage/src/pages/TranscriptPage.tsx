import { useEffect, useState } from 'react'
import { Link, useParams } from 'react-router'
import { getConversation } from '../api/history'
import { ApiError } from '../api/http'
import { ApiErrorNotice } from '../components/ApiErrorNotice'
import { HistoryShell } from '../components/HistoryShell'
import { SignInPrompt } from '../components/SignInPrompt'
import { formatDateTime, workflowLabel } from '../lib/format'
import { forgetToken, loadSession } from '../lib/storage'
import type { ConversationDetail, Session } from '../types'

export function TranscriptPage() {
  const { userId = '', conversationId = '' } = useParams()
  const [session, setSession] = useState<Session | null>(() => loadSession())
  const [expired, setExpired] = useState(false)
  const [detail, setDetail] = useState<ConversationDetail | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [attempt, setAttempt] = useState(0)
  const token = session?.token ?? null

  useEffect(() => {
    if (!token) return
    let cancelled = false
    setDetail(null)
    setError(null)
    getConversation(userId, conversationId, token)
      .then((loaded) => {
        if (!cancelled) setDetail(loaded)
      })
      .catch((failure: unknown) => {
        if (cancelled) return
        const apiError = failure instanceof ApiError ? failure : new ApiError(null, String(failure))
        if (apiError.status === 401) {
          forgetToken()
          setSession(null)
          setExpired(true)
        } else {
          setError(apiError)
        }
      })
    return () => {
      cancelled = true
    }
  }, [userId, conversationId, token, attempt])

  if (!session) {
    return (
      <HistoryShell session={null} userId={userId}>
        <SignInPrompt expired={expired} />
      </HistoryShell>
    )
  }

  const listPath = `/history/${encodeURIComponent(userId)}`
  return (
    <HistoryShell session={session} userId={userId}>
      <section className="panel" aria-labelledby="transcript-title">
        <Link to={listPath} className="link-button" data-testid="back-to-history">
          ← All conversations
        </Link>
        {error && <ApiErrorNotice error={error} onRetry={() => setAttempt((n) => n + 1)} />}
        {!error && !detail && (
          <p className="muted" role="status" data-testid="loading">
            Loading the conversation…
          </p>
        )}
        {detail && (
          <>
            <h1 id="transcript-title">{workflowLabel(detail.workflow)}</h1>
            <p className="muted">
              Started {formatDateTime(detail.started_at)}
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
