import { useCallback, useEffect, useState } from 'react'
import { useParams } from 'react-router'
import { deleteConversation, exportConversations, listConversations } from '../api/history'
import { ApiError } from '../api/http'
import { ApiErrorNotice } from '../components/ApiErrorNotice'
import { ConversationRow } from '../components/ConversationRow'
import { HistoryShell } from '../components/HistoryShell'
import { SignInPrompt } from '../components/SignInPrompt'
import { saveBlob } from '../lib/download'
import { forgetToken, loadSession } from '../lib/storage'
import type { ConversationSummary, Session } from '../types'

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(null, String(error))
}

export function HistoryPage() {
  const { userId = '' } = useParams()
  const [session, setSession] = useState<Session | null>(() => loadSession())
  const [expired, setExpired] = useState(false)
  const [items, setItems] = useState<ConversationSummary[]>([])
  const [total, setTotal] = useState(0)
  const [cursor, setCursor] = useState<string | null>(null)
  const [loading, setLoading] = useState(true)
  const [loadingMore, setLoadingMore] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)
  const [deletingId, setDeletingId] = useState<string | null>(null)
  const [exporting, setExporting] = useState(false)
  const [attempt, setAttempt] = useState(0)
  const token = session?.token ?? null

  // Any 401 means the token is no good any more: forget it and say so.
  const handleFailure = useCallback((failure: unknown): ApiError | null => {
    const apiError = asApiError(failure)
    if (apiError.status === 401) {
      forgetToken()
      setSession(null)
      setExpired(true)
      return null
    }
    return apiError
  }, [])

  useEffect(() => {
    if (!token) return
    let cancelled = false
    setLoading(true)
    setError(null)
    listConversations(userId, token)
      .then((page) => {
        if (cancelled) return
        setItems(page.conversations)
        setTotal(page.total)
        setCursor(page.next_cursor)
      })
      .catch((failure: unknown) => {
        if (!cancelled) setError(handleFailure(failure))
      })
      .finally(() => {
        if (!cancelled) setLoading(false)
      })
    return () => {
      cancelled = true
    }
  }, [userId, token, attempt, handleFailure])

  const loadMore = async () => {
    if (!token || !cursor) return
    setLoadingMore(true)
    setActionError(null)
    try {
      const page = await listConversations(userId, token, { before: cursor })
      setItems((current) => {
        const known = new Set(current.map((item) => item.id))
        return [...current, ...page.conversations.filter((item) => !known.has(item.id))]
      })
      setTotal(page.total)
      setCursor(page.next_cursor)
    } catch (failure) {
      const apiError = handleFailure(failure)
      if (apiError) setActionError(`Could not load more conversations: ${apiError.message}`)
    } finally {
      setLoadingMore(false)
    }
  }

  const remove = async (conversation: ConversationSummary) => {
    if (!token) return
    if (!window.confirm('Delete this conversation? This cannot be undone.')) return
    setDeletingId(conversation.id)
    setActionError(null)
    try {
      await deleteConversation(userId, conversation.id, token)
      setItems((current) => current.filter((item) => item.id !== conversation.id))
      setTotal((count) => Math.max(0, count - 1))
    } catch (failure) {
      const apiError = handleFailure(failure)
      if (apiError?.status === 404) {
        setItems((current) => current.filter((item) => item.id !== conversation.id))
      } else if (apiError) {
        setActionError(`Could not delete the conversation: ${apiError.message}`)
      }
    } finally {
      setDeletingId(null)
    }
  }

  const exportAll = async () => {
    if (!token) return
    setExporting(true)
    setActionError(null)
    try {
      const blob = await exportConversations(userId, token)
      saveBlob(blob, `hirecj-conversations-${userId}.jsonl`)
    } catch (failure) {
      const apiError = handleFailure(failure)
      if (apiError) setActionError(`Could not export your conversations: ${apiError.message}`)
    } finally {
      setExporting(false)
    }
  }

  if (!session) {
    return (
      <HistoryShell session={null} userId={userId}>
        <SignInPrompt expired={expired} />
      </HistoryShell>
    )
  }

  return (
    <HistoryShell session={session} userId={userId}>
      <section className="panel" aria-labelledby="history-title">
        <div className="panel__heading">
          <h1 id="history-title">Conversation history</h1>
          <button
            type="button"
            className="button button--secondary"
            data-testid="export-button"
            onClick={exportAll}
            disabled={exporting || loading || error !== null}
          >
            {exporting ? 'Exporting…' : 'Export'}
          </button>
        </div>
        {actionError && (
          <p className="notice notice--error" role="alert" data-testid="action-error">
            {actionError}
          </p>
        )}
        {loading && (
          <p className="muted" role="status" data-testid="loading">
            Loading your conversations…
          </p>
        )}
        {!loading && error && (
          <ApiErrorNotice error={error} subject="history" onRetry={() => setAttempt((n) => n + 1)} />
        )}
        {!loading && !error && items.length === 0 && (
          <p className="muted" data-testid="empty-history">
            No saved conversations yet. Conversations appear here once they are archived, shortly
            after they end.
          </p>
        )}
        {!loading && !error && items.length > 0 && (
          <>
            <p className="muted" data-testid="history-count">
              Showing {items.length} of {Math.max(total, items.length)}
            </p>
            <ul className="conversation-list">
              {items.map((conversation) => (
                <ConversationRow
                  key={conversation.id}
                  userId={userId}
                  conversation={conversation}
                  deleting={deletingId === conversation.id}
                  onDelete={remove}
                />
              ))}
            </ul>
            {cursor && (
              <button
                type="button"
                className="button button--secondary button--block"
                data-testid="load-more"
                onClick={loadMore}
                disabled={loadingMore}
              >
                {loadingMore ? 'Loading…' : 'Load more'}
              </button>
            )}
          </>
        )}
      </section>
    </HistoryShell>
  )
}
