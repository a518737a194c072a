/** An edit of the flow builder (./agent-document.ts) that cannot apply to the document as it is (the text is unchanged). */
export class EditError extends Error {
  override readonly name = 'EditError';
}
