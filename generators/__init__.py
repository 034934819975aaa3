"""Behaviour-to-policy generators: the method interface, Make-An-Agent and the controls."""
