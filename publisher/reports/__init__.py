"""Plans and progress for people: text, markdown, progress lines."""
