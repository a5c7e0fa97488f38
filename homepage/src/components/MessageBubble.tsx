import { formatDateTime, formatMessageTime } from '../lib/format'
import type { ChatMessage } from '../types'

interface MessageBubbleProps {
  message: ChatMessage
}

export function MessageBubble({ message }: MessageBubbleProps) {
  const fromCj = message.sender === 'cj'
  const classes = ['bubble', fromCj ? 'bubble--cj' : 'bubble--user']
  if (message.lost) classes.push('bubble--lost')
  if (message.pending) classes.push('bubble--pending')
  return (
    <li
      className={`bubble-row ${fromCj ? 'bubble-row--cj' : 'bubble-row--user'}`}
      data-testid={fromCj ? 'message-cj' : 'message-user'}
      data-lost={message.lost ? 'true' : undefined}
    >
      {fromCj && (
        <span className="avatar" aria-hidden="true">
          CJ
        </span>
      )}
      <div className={classes.join(' ')}>
        <span className="visually-hidden">{fromCj ? 'CJ said:' : 'You said:'}</span>
        <p className="bubble__text">{message.content}</p>
        <span className="bubble__foot">
          {message.lost && (
            <span className="bubble__flag" data-testid="not-saved" title="HireCJ lost this message; only this tab still has it">
              not saved
            </span>
          )}
          {message.pending && (
            <span className="bubble__flag bubble__flag--pending" data-testid="sending">
              sending…
            </span>
          )}
          <time className="bubble__time" dateTime={message.timestamp} title={formatDateTime(message.timestamp)}>
            {formatMessageTime(message.timestamp)}
          </time>
        </span>
      </div>
    </li>
  )
}
