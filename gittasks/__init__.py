"""gittasks: a task list for AI coding assistants, kept as versioned files in git and merged field by field."""
