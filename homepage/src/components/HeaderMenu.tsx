import { useEffect, useId, useRef, useState, type ReactNode } from 'react'

interface HeaderMenuProps {
  /** The panel's content: links and buttons (each closes the menu when used), sections. */
  children: ReactNode
  label?: string
}

/** The header's "more" button and its panel; Escape, a click outside or any action closes it. */
export function HeaderMenu({ children, label = 'Menu' }: HeaderMenuProps) {
  const [open, setOpen] = useState(false)
  const panelId = useId()
  const rootRef = useRef<HTMLDivElement>(null)
  const buttonRef = useRef<HTMLButtonElement>(null)

  useEffect(() => {
    if (!open) return
    const onPointer = (event: PointerEvent | MouseEvent) => {
      if (!rootRef.current?.contains(event.target as Node)) setOpen(false)
    }
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        setOpen(false)
        buttonRef.current?.focus()
      }
    }
    document.addEventListener('mousedown', onPointer)
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('mousedown', onPointer)
      document.removeEventListener('keydown', onKey)
    }
  }, [open])

  return (
    <div className="menu" ref={rootRef}>
      <button
        type="button"
        ref={buttonRef}
        className="button button--ghost button--icon"
        data-testid="header-menu"
        aria-label={label}
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        onClick={() => setOpen((value) => !value)}
      >
        <svg width="20" height="20" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
          <circle cx="4" cy="10" r="1.8" fill="currentColor" />
          <circle cx="10" cy="10" r="1.8" fill="currentColor" />
          <circle cx="16" cy="10" r="1.8" fill="currentColor" />
        </svg>
      </button>
      {open && (
        <div
          id={panelId}
          className="menu__panel"
          data-testid="header-menu-panel"
          onClick={(event) => {
            if ((event.target as HTMLElement).closest('a, button')) setOpen(false)
          }}
        >
          {children}
        </div>
      )}
    </div>
  )
}
