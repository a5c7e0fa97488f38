interface DateSeparatorProps {
  label: string
}

export function DateSeparator({ label }: DateSeparatorProps) {
  return (
    <li className="date-separator" data-testid="date-separator" role="separator" aria-label={label}>
      <span>{label}</span>
    </li>
  )
}
