"""The channels a caller or agent reaches us through, and how a flow's turn is rendered for each."""
