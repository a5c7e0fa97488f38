import { Fragment, forwardRef } from 'react'
import { dayKey, dayLabel } from '../lib/format'
import type { ChatMessage } from '../types'
import { DateSeparator } from './DateSeparator'
import { MessageBubble } from './MessageBubble'
import { TypingIndicator } from './TypingIndicator'

interface MessageListProps {
  messages: ChatMessage[]
  waiting: boolean
}

/** The bubbles, with "Today" / "Yesterday" / "12 March" above the first message of each day. */
export const MessageList = forwardRef<HTMLOListElement, MessageListProps>(function MessageList(
  { messages, waiting },
  ref,
) {
  return (
    <ol className="chat__messages" ref={ref} aria-live="polite" data-testid="message-list">
      {messages.length === 0 && !waiting && <li className="chat__empty">Say hello to CJ to get started.</li>}
      {messages.map((message, index) => {
        const day = dayKey(message.timestamp)
        const newDay = day !== '' && day !== dayKey(messages[index - 1]?.timestamp)
        return (
          <Fragment key={message.id}>
            {newDay && <DateSeparator label={dayLabel(message.timestamp)} />}
            <MessageBubble message={message} />
          </Fragment>
        )
      })}
      {waiting && <TypingIndicator />}
    </ol>
  )
})
