export function TypingIndicator() {
  return (
    <li className="bubble-row bubble-row--cj" data-testid="typing-indicator" aria-live="polite">
      <span className="avatar" aria-hidden="true">
        CJ
      </span>
      <div className="bubble bubble--cj typing" role="status" aria-label="CJ is typing">
        <span className="typing__dot" />
        <span className="typing__dot" />
        <span className="typing__dot" />
      </div>
    </li>
  )
}
