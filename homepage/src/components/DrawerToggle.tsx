interface DrawerToggleProps {
  open: boolean
  onToggle: () => void
}

/** The phone header's button for the conversation drawer (hidden where the sidebar shows). */
export function DrawerToggle({ open, onToggle }: DrawerToggleProps) {
  return (
    <button
      type="button"
      className="button button--ghost button--icon drawer-toggle"
      data-testid="open-sidebar"
      aria-label={open ? 'Close the conversation list' : 'Open the conversation list'}
      aria-expanded={open}
      aria-controls="conversation-sidebar"
      onClick={onToggle}
    >
      <svg width="20" height="20" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
        <path d="M3 5h14M3 10h14M3 15h14" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
      </svg>
    </button>
  )
}
