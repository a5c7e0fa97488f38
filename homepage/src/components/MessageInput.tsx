import { useState, type FormEvent, type KeyboardEvent } from 'react'
import { MAX_MESSAGE_LENGTH } from '../api/chatSocket'

interface MessageInputProps {
  disabled: boolean
  placeholder?: string
  /** Returns true when the message went out (the box is then cleared). */
  onSend: (text: string) => boolean
}

export function MessageInput({ disabled, placeholder, onSend }: MessageInputProps) {
  const [text, setText] = useState('')
  const length = text.length
  const tooLong = length > MAX_MESSAGE_LENGTH
  const canSend = !disabled && text.trim().length > 0 && !tooLong

  const submit = () => {
    if (!canSend) return
    if (onSend(text)) setText('')
  }

  const handleSubmit = (event: FormEvent) => {
    event.preventDefault()
    submit()
  }

  const handleKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // Enter sends, Shift+Enter makes a new line (as in Slack).
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault()
      submit()
    }
  }

  const nearLimit = length > MAX_MESSAGE_LENGTH * 0.9
  return (
    <form className="composer" onSubmit={handleSubmit}>
      <label htmlFor="chat-input" className="visually-hidden">
        Message CJ
      </label>
      <textarea
        id="chat-input"
        className="composer__input"
        data-testid="chat-input"
        rows={2}
        value={text}
        maxLength={MAX_MESSAGE_LENGTH}
        placeholder={placeholder ?? 'Message CJ…'}
        disabled={disabled}
        aria-describedby="chat-input-counter"
        onChange={(event) => setText(event.target.value.slice(0, MAX_MESSAGE_LENGTH))}
        onKeyDown={handleKeyDown}
      />
      <div className="composer__side">
        <span
          id="chat-input-counter"
          className={`composer__counter${nearLimit ? ' composer__counter--warn' : ''}`}
          data-testid="char-counter"
        >
          {length.toLocaleString('en-US')} / {MAX_MESSAGE_LENGTH.toLocaleString('en-US')}
        </span>
        <button type="submit" className="button button--primary" data-testid="send-button" disabled={!canSend}>
          Send
        </button>
      </div>
    </form>
  )
}
