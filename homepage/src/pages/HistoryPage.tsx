import { useState } from 'react'
import { useParams } from 'react-router'
import { asApiError } from '../api/http'
import { ApiErrorNotice } from '../components/ApiErrorNotice'
import { ConfirmDialog } from '../components/ConfirmDialog'
import { ConversationRow } from '../components/ConversationRow'
import { HistoryShell } from '../components/HistoryShell'
import { SearchField } from '../components/SearchField'
import { SignInPrompt } from '../components/SignInPrompt'
import {
  flattenPages,
  useConversationList,
  useDeleteConversation,
  useExportConversations,
} from '../hooks/historyQueries'
import { useDebouncedValue } from '../hooks/useDebouncedValue'
import { useDocumentTitle } from '../hooks/useDocumentTitle'
import { saveBlob } from '../lib/download'
import { titleOf } from '../lib/format'
import { forgetConversationIfCurrent } from '../lib/storage'
import { useSession } from '../session/sessionContext'
import type { ConversationSummary } from '../types'

export const SEARCH_DEBOUNCE_MS = 250

export function HistoryPage() {
  const { userId = '' } = useParams()
  const { session, expired } = useSession()
  const token = session?.token ?? null
  const [search, setSearch] = useState('')
  const words = useDebouncedValue(search.trim(), SEARCH_DEBOUNCE_MS)
  const [confirming, setConfirming] = useState<ConversationSummary | null>(null)
  useDocumentTitle('History')

  const list = useConversationList(userId, token, { q: words })
  const removal = useDeleteConversation(userId, token)
  const exporting = useExportConversations(userId, token)
  const items = flattenPages(list.data)
  const total = list.data?.pages[0]?.total ?? 0

  if (!session) {
    return (
      <HistoryShell userId={userId}>
        <SignInPrompt expired={expired} />
      </HistoryShell>
    )
  }

  const actionError = [
    list.isFetchNextPageError && list.error && `Could not load more conversations: ${list.error.message}`,
    removal.error && asApiError(removal.error).status !== 401 && `Could not delete the conversation: ${removal.error.message}`,
    exporting.error && asApiError(exporting.error).status !== 401 && `Could not export your conversations: ${exporting.error.message}`,
  ].find(Boolean)
  const loadError = list.isError && !list.isFetchNextPageError ? asApiError(list.error) : null
  const searching = words.length > 0

  const confirmDelete = () => {
    if (!confirming) return
    const conversation = confirming
    removal.mutate(conversation, {
      onSuccess: () => forgetConversationIfCurrent(conversation.id),
      onSettled: () => setConfirming(null),
    })
  }

  return (
    <HistoryShell userId={userId}>
      <section className="panel" aria-labelledby="history-title">
        <div className="panel__heading">
          <h1 id="history-title">Conversation history</h1>
          <button
            type="button"
            className="button button--secondary"
            data-testid="export-button"
            onClick={() =>
              exporting.mutate(undefined, {
                onSuccess: (blob) => saveBlob(blob, `hirecj-conversations-${userId}.jsonl`),
              })
            }
            disabled={exporting.isPending || list.isPending || loadError !== null}
          >
            {exporting.isPending ? 'Exporting…' : 'Export'}
          </button>
        </div>
        <SearchField value={search} onChange={setSearch} testId="history-search" />
        {actionError && (
          <p className="notice notice--error" role="alert" data-testid="action-error">
            {actionError}
          </p>
        )}
        {list.isPending && (
          <p className="muted" role="status" data-testid="loading">
            {searching ? 'Searching…' : 'Loading your conversations…'}
          </p>
        )}
        {loadError && (
          <ApiErrorNotice error={loadError} subject="history" onRetry={() => void list.refetch()} />
        )}
        {list.isSuccess && items.length === 0 && !searching && (
          <p className="muted" data-testid="empty-history">
            No saved conversations yet. Conversations appear here once they are archived, shortly
            after they end.
          </p>
        )}
        {list.isSuccess && items.length === 0 && searching && (
          <p className="muted" data-testid="search-empty">
            No conversations mention “{words}”.
          </p>
        )}
        {list.isSuccess && items.length > 0 && (
          <>
            <p className="muted" data-testid="history-count">
              {searching ? `${Math.max(total, items.length)} found` : `Showing ${items.length} of ${Math.max(total, items.length)}`}
            </p>
            <ul className="conversation-list">
              {items.map((conversation) => (
                <ConversationRow
                  key={conversation.id}
                  userId={userId}
                  conversation={conversation}
                  deleting={removal.isPending && removal.variables?.id === conversation.id}
                  onDelete={setConfirming}
                />
              ))}
            </ul>
            {list.hasNextPage && (
              <button
                type="button"
                className="button button--secondary button--block"
                data-testid="load-more"
                onClick={() => void list.fetchNextPage()}
                disabled={list.isFetchingNextPage}
              >
                {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
            )}
          </>
        )}
      </section>
      {confirming && (
        <ConfirmDialog
          title="Delete this conversation?"
          body={`“${titleOf(confirming)}” will be deleted for good, with every message in it. This cannot be undone.`}
          confirmLabel="Delete"
          busy={removal.isPending}
          onConfirm={confirmDelete}
          onCancel={() => setConfirming(null)}
        />
      )}
    </HistoryShell>
  )
}
