interface HighlightedSnippetProps {
  /** Search text with the matches between ** marks, as the history API sends it. */
  text: string
}

/**
 * The matches as <mark>, everything else as plain text. React escapes every piece, so a snippet
 * holding markup shows it as text; it is never parsed as HTML.
 */
export function HighlightedSnippet({ text }: HighlightedSnippetProps) {
  const parts = text.split('**')
  // An odd number of marks leaves the last ** unclosed: show it as the text it is.
  const unclosed = parts.length % 2 === 0
  return (
    <>
      {parts.map((part, index) => {
        const last = index === parts.length - 1
        if (index % 2 === 1 && !(unclosed && last)) return <mark key={index}>{part}</mark>
        return <span key={index}>{unclosed && last ? `**${part}` : part}</span>
      })}
    </>
  )
}
