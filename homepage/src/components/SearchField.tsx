import { useId } from 'react'

interface SearchFieldProps {
  value: string
  onChange: (value: string) => void
  label?: string
  placeholder?: string
  testId?: string
}

export function SearchField({
  value,
  onChange,
  label = 'Search conversations',
  placeholder = 'Search conversations',
  testId,
}: SearchFieldProps) {
  const id = useId()
  return (
    <div className="search">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <input
        id={id}
        className="search__input"
        type="search"
        data-testid={testId}
        placeholder={placeholder}
        value={value}
        autoComplete="off"
        spellCheck={false}
        maxLength={200}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape' && value) {
            event.preventDefault()
            onChange('')
          }
        }}
      />
    </div>
  )
}
