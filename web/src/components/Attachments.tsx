/**
 * Files on messages (docs/rest-api.md "Files and images"): {@link AttachmentList} shows a user message's files, a
 * stored image as a thumbnail (`GET /sessions/:id/files/:fileId`), anything else, and images given by URL, as links
 * (the API's CSP, `img-src 'self' data:`, loads no third-party image, and a viewer's browser should not fetch one
 * unasked); {@link FilePicker} is the composer's "Attach" button with the chosen files as removable chips.
 */
import type { FileRef } from '../../../src/engine/files.js';
import { fileUrl } from '../api.js';

/** Media types the picker offers: the API's default `STEPWISE_ALLOWED_FILE_TYPES`. */
export const ACCEPTED_FILE_TYPES = 'image/png,image/jpeg,image/gif,image/webp,application/pdf';

export function AttachmentList({ sessionId, files }: { sessionId: string; files: FileRef[] }) {
  return (
    <ul class="attachments" aria-label="Attachments">
      {files.map((f) => {
        const href = fileUrl(sessionId, f);
        const label = f.name ?? f.url ?? f.mediaType;
        return (
          <li key={f.fileId} data-file-id={f.fileId}>
            {f.mediaType.startsWith('image/') && !f.url ? (
              <a href={href} target="_blank" rel="noopener noreferrer">
                <img src={href} alt={label} loading="lazy" class="thumb" />
              </a>
            ) : (
              <a href={href} target="_blank" rel="noopener noreferrer" class="file-link">
                {label} <span class="muted">({f.mediaType})</span>
              </a>
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function FilePicker({ files, onChange, disabled }: { files: File[]; onChange: (files: File[]) => void; disabled?: boolean }) {
  return (
    <div class="file-picker">
      <label class={`attach${disabled ? ' disabled' : ''}`}>
        Attach
        <input
          type="file"
          multiple
          accept={ACCEPTED_FILE_TYPES}
          disabled={disabled}
          class="sr-only"
          data-testid="attach"
          onChange={(e) => {
            const input = e.target as HTMLInputElement;
            onChange([...files, ...Array.from(input.files ?? [])]);
            input.value = '';
          }}
        />
      </label>
      {files.length > 0 && (
        <ul class="attached" aria-label="Files to send">
          {files.map((f, i) => (
            <li key={`${f.name}-${i}`} class="chip">
              {f.name}{' '}
              <button type="button" class="link" aria-label={`Remove ${f.name}`} onClick={() => onChange(files.filter((_, j) => j !== i))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
