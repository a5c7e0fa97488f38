import { useState } from 'react'
import { Link } from 'react-router'
import { useDebouncedValue } from '../hooks/useDebouncedValue'
import type { ConversationSummary, Session } from '../types'
import { SearchField } from './SearchField'
import { SidebarConversations } from './SidebarConversations'

export const SIDEBAR_SEARCH_DEBOUNCE_MS = 250

interface ConversationSidebarProps {
  session: Session | null
  currentId: string
  liveEntries: ConversationSummary[]
  onNewChat: () => void
  /** Phone layout: the sidebar is a drawer, shown only while `open`. */
  drawer: boolean
  open: boolean
  onClose: () => void
}

/** The chat app's left column (a drawer on phones): new chat, search, the merchant's chats. */
export function ConversationSidebar({
  session,
  currentId,
  liveEntries,
  onNewChat,
  drawer,
  open,
  onClose,
}: ConversationSidebarProps) {
  const [search, setSearch] = useState('')
  const words = useDebouncedValue(search.trim(), SIDEBAR_SEARCH_DEBOUNCE_MS)
  const hidden = drawer && !open
  const closeDrawer = drawer ? onClose : undefined
  return (
    <aside
      id="conversation-sidebar"
      className={`sidebar${drawer ? ' sidebar--drawer' : ''}${open ? ' sidebar--open' : ''}`}
      data-testid="sidebar"
      aria-label="Your conversations"
      inert={hidden}
      aria-hidden={hidden || undefined}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && drawer) onClose()
      }}
    >
      <div className="sidebar__top">
        <button
          type="button"
          className="button button--secondary sidebar__new"
          data-testid="new-conversation"
          onClick={() => {
            onNewChat()
            closeDrawer?.()
          }}
        >
          <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
            <path d="M8 3v10M3 8h10" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
          </svg>
          New chat
        </button>
        {drawer && (
          <button
            type="button"
            className="button button--ghost button--icon"
            data-testid="close-sidebar"
            aria-label="Close the conversation list"
            onClick={onClose}
          >
            <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
              <path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
            </svg>
          </button>
        )}
      </div>
      {session ? (
        <>
          <SearchField value={search} onChange={setSearch} testId="sidebar-search" placeholder="Search chats" />
          <nav className="sidebar__scroll" aria-label="Chats">
            <SidebarConversations
              session={session}
              q={words}
              currentId={currentId}
              liveEntries={liveEntries}
              onOpen={closeDrawer}
            />
          </nav>
          <Link
            to={`/history/${encodeURIComponent(session.userId)}`}
            className="sidebar__footer-link"
            data-testid="sidebar-history-link"
            onClick={closeDrawer}
          >
            All conversations, export and delete
          </Link>
        </>
      ) : (
        <p className="sidebar__state sidebar__state--signed-out" data-testid="sidebar-signed-out">
          Connect your Shopify store to keep your chats with CJ and find them here later.
        </p>
      )}
    </aside>
  )
}
