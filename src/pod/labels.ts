/** A CRI label selector: every key it names must carry exactly its value. */
export function matchesLabels(labels: Record<string, string>, selector: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector)) if (labels[key] !== value) return false;
  return true;
}
