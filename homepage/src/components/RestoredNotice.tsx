import type { RestoredNotice as Restored } from '../hooks/useChatSocket'
import { formatDateTime } from '../lib/format'

interface RestoredNoticeProps {
  restored: Restored
  onDismiss: () => void
}

const SHOWN = 5

function excerpt(text: string): string {
  const words = text.replace(/\s+/g, ' ').trim()
  return words.length > 90 ? `${words.slice(0, 89)}…` : words
}

/** Says plainly which messages HireCJ could not bring back: restored from its archive, or lost whole. */
export function RestoredNotice({ restored, onDismiss }: RestoredNoticeProps) {
  const count = restored.lost.length
  return (
    <div className="notice notice--warning" role="alert" data-testid="restored-notice">
      <div className="notice__body">
        <p>
          <strong>
            {count === 1 ? 'One message' : `${count} messages`} could not be recovered.
          </strong>{' '}
          {restored.fromArchive ? (
            <>
              HireCJ had to restore this conversation from its archive
              {restored.archivedAt ? ` (saved ${formatDateTime(restored.archivedAt)})` : ''}, which does
              not have {count === 1 ? 'it' : 'them'}.
            </>
          ) : (
            <>HireCJ lost this conversation before it was saved, so it starts over from here.</>
          )}{' '}
          {count === 1 ? 'It is' : 'They are'} still shown below, marked “not saved”; only this tab has{' '}
          {count === 1 ? 'it' : 'them'}.
        </p>
        <ul className="notice__list" data-testid="restored-lost">
          {restored.lost.slice(0, SHOWN).map((message) => (
            <li key={message.id}>
              {message.sender === 'cj' ? 'CJ' : 'You'}: “{excerpt(message.content)}”
            </li>
          ))}
          {count > SHOWN && <li>and {count - SHOWN} more</li>}
        </ul>
      </div>
      <button type="button" className="link-button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  )
}
