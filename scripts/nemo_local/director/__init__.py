"""The director: the only place a user's words (and structured options) become a draft. `turn.direct` applies
one message; the other modules each own one kind of rule (pictures and tracks, the montage's cuts, speech and
captions, texts on screen, the best clip)."""
