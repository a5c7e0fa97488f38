import { useEffect, useRef, type FormEvent, type KeyboardEvent } from 'react'
import { MAX_MESSAGE_LENGTH } from '../api/chatSocket'

interface MessageInputProps {
  /** The draft; held by the chat so that a message that did not go through can come back. */
  value: string
  onChange: (value: string) => void
  /** Sending is off (not connected yet); typing still works, so nothing waits on the network. */
  disabled: boolean
  placeholder?: string
  /** Returns true when the message went out (the box is then cleared). */
  onSend: (text: string) => boolean
}

export function MessageInput({ value, onChange, disabled, placeholder, onSend }: MessageInputProps) {
  const inputRef = useRef<HTMLTextAreaElement>(null)
  const length = value.length
  const tooLong = length > MAX_MESSAGE_LENGTH
  const canSend = !disabled && value.trim().length > 0 && !tooLong

  // The message box has the focus when the chat opens, so a merchant can type at once.
  useEffect(() => {
    inputRef.current?.focus({ preventScroll: true })
  }, [])

  const submit = () => {
    if (!canSend) return
    if (onSend(value)) onChange('')
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
        ref={inputRef}
        className="composer__input"
        data-testid="chat-input"
        rows={2}
        value={value}
        maxLength={MAX_MESSAGE_LENGTH}
        placeholder={placeholder ?? 'Message CJ…'}
        aria-describedby="chat-input-counter"
        onChange={(event) => onChange(event.target.value.slice(0, MAX_MESSAGE_LENGTH))}
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
