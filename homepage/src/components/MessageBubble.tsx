import { formatTime } from '../lib/format'
import type { ChatMessage } from '../types'

interface MessageBubbleProps {
  message: ChatMessage
}

export function MessageBubble({ message }: MessageBubbleProps) {
  const fromCj = message.sender === 'cj'
  return (
    <li
      className={`bubble-row ${fromCj ? 'bubble-row--cj' : 'bubble-row--user'}`}
      data-testid={fromCj ? 'message-cj' : 'message-user'}
    >
      {fromCj && (
        <span className="avatar" aria-hidden="true">
          CJ
        </span>
      )}
      <div className={`bubble ${fromCj ? 'bubble--cj' : 'bubble--user'}`}>
        <span className="visually-hidden">{fromCj ? 'CJ said:' : 'You said:'}</span>
        <p className="bubble__text">{message.content}</p>
        <time className="bubble__time" dateTime={message.timestamp}>
          {formatTime(message.timestamp)}
        </time>
      </div>
    </li>
  )
}
