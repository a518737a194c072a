/** Renders JSON-like data (structured answers, tool arguments and results) as nested lists instead of raw text. */
export function DataView({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="data-null">{String(value)}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="data-null">(empty list)</span>;
    return (
      <ol class="data-list">
        {value.map((v, i) => (
          <li key={i}>
            <DataView value={v} />
          </li>
        ))}
      </ol>
    );
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return <span class="data-null">(empty)</span>;
    return (
      <dl class="data">
        {entries.map(([k, v]) => (
          <div key={k} class="data-row">
            <dt>{k}</dt>
            <dd>
              <DataView value={v} />
            </dd>
          </div>
        ))}
      </dl>
    );
  }
  return <span class={`data-${typeof value}`}>{String(value)}</span>;
}
