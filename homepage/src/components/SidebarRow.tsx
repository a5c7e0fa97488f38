import { Link } from 'react-router'
import { formatDateTime, formatRelative, titleOf } from '../lib/format'
import type { ConversationSummary } from '../types'
import { HighlightedSnippet } from './HighlightedSnippet'

interface SidebarRowProps {
  conversation: ConversationSummary
  current: boolean
  onOpen?: () => void
}

/** One chat in the sidebar: its title, its last words (or the search match) and when. */
export function SidebarRow({ conversation, current, onOpen }: SidebarRowProps) {
  const when = conversation.started_at
  return (
    <li className="sidebar-row" data-testid="sidebar-row" data-conversation-id={conversation.id}>
      <Link
        to={`/chat/${encodeURIComponent(conversation.id)}`}
        className={`sidebar-row__link${current ? ' sidebar-row__link--current' : ''}`}
        aria-current={current ? 'page' : undefined}
        onClick={onOpen}
      >
        <span className="sidebar-row__top">
          <span className="sidebar-row__title" data-testid="sidebar-title">
            {titleOf(conversation)}
          </span>
          {when && (
            <time className="sidebar-row__when" dateTime={when} title={formatDateTime(when)}>
              {formatRelative(when)}
            </time>
          )}
        </span>
        {conversation.snippet ? (
          <span className="sidebar-row__preview" data-testid="sidebar-snippet">
            <HighlightedSnippet text={conversation.snippet} />
          </span>
        ) : (
          conversation.preview && (
            <span className="sidebar-row__preview" data-testid="sidebar-preview">
              {conversation.preview}
            </span>
          )
        )}
      </Link>
    </li>
  )
}
