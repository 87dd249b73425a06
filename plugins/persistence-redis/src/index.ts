// Placeholder: this workspace is being built; see the issue it belongs to.
export {}
