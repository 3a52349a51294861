// Small dependency-free SVG charts for docs/benchmarks.md. Every label is escaped.
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * Horizontal bars. rows: [{ label, value, highlight? }]; unit: printed after each value.
 */
export function barChart({ title, rows, unit, width = 860 }) {
  const bar = 22
  const gap = 8
  // Room for the longest label (about 7 px per character at 13 px).
  const left = Math.max(120, 16 + 7 * Math.max(...rows.map((r) => String(r.label).length)))
  const right = 110
  const top = 40
  const max = Math.max(...rows.map((r) => r.value))
  const height = top + rows.length * (bar + gap) + 10
  const scale = (width - left - right) / max
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" font-size="15" font-weight="600">${esc(title)}</text>`,
  ]
  rows.forEach((r, i) => {
    const y = top + i * (bar + gap)
    const w = Math.max(1, r.value * scale)
    parts.push(
      `<text x="${left - 8}" y="${y + bar / 2 + 4}" text-anchor="end">${esc(r.label)}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${r.highlight ? '#2f6fdf' : '#9aa5b1'}"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + bar / 2 + 4}">${esc(r.text ?? `${r.value} ${unit}`)}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}
