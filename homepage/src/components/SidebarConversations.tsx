import { useCallback, useRef } from 'react'
import { asApiError } from '../api/http'
import { flattenPages, useConversationList } from '../hooks/historyQueries'
import { useOnVisible } from '../hooks/useOnVisible'
import type { ConversationSummary, Session } from '../types'
import { ApiErrorNotice } from './ApiErrorNotice'
import { SidebarRow } from './SidebarRow'

interface SidebarConversationsProps {
  session: Session
  /** Search words (already debounced); empty lists every conversation. */
  q: string
  currentId: string
  /** This tab's chats that the server does not list yet (not archived), newest first. */
  liveEntries: ConversationSummary[]
  onOpen?: () => void
}

const REFRESH_MS = 60_000

/** The signed-in merchant's chats (or the matches of a search), the next page loading on scroll. */
export function SidebarConversations({ session, q, currentId, liveEntries, onOpen }: SidebarConversationsProps) {
  const searching = q.length > 0
  const list = useConversationList(session.userId, session.token, {
    q,
    refetchInterval: searching ? false : REFRESH_MS,
  })
  const sentinel = useRef<HTMLLIElement>(null)
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage()
  }, [hasNextPage, isFetchingNextPage, fetchNextPage])
  useOnVisible(sentinel, loadMore, { enabled: Boolean(hasNextPage) })

  const listed = flattenPages(list.data)
  const known = new Set(listed.map((row) => row.id))
  const rows = searching ? listed : [...liveEntries.filter((row) => !known.has(row.id)), ...listed]
  const observer = typeof IntersectionObserver !== 'undefined'

  if (list.isPending && rows.length === 0) {
    return (
      <p className="sidebar__state" role="status" data-testid="sidebar-loading">
        {searching ? 'Searching…' : 'Loading your chats…'}
      </p>
    )
  }
  if (list.isError && !list.isFetchNextPageError && rows.length === 0) {
    return <ApiErrorNotice error={asApiError(list.error)} subject="history" onRetry={() => void list.refetch()} compact />
  }
  if (rows.length === 0) {
    return searching ? (
      <p className="sidebar__state" data-testid="sidebar-search-empty">
        No conversations mention “{q}”.
      </p>
    ) : (
      <p className="sidebar__state" data-testid="sidebar-empty">
        No chats yet. What you write to CJ will be listed here.
      </p>
    )
  }
  return (
    <ul className="sidebar__list" data-testid={searching ? 'sidebar-results' : 'sidebar-list'}>
      {rows.map((row) => (
        <SidebarRow key={row.id} conversation={row} current={row.id === currentId} onOpen={onOpen} />
      ))}
      {list.hasNextPage && (
        <li ref={sentinel} className="sidebar__more">
          {list.isFetchNextPageError ? (
            <button type="button" className="link-button" data-testid="sidebar-load-more" onClick={loadMore}>
              Could not load more. Try again
            </button>
          ) : observer && !list.isFetchingNextPage ? null : (
            <button
              type="button"
              className="link-button"
              data-testid="sidebar-load-more"
              onClick={loadMore}
              disabled={list.isFetchingNextPage}
            >
              {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
            </button>
          )}
        </li>
      )}
    </ul>
  )
}
