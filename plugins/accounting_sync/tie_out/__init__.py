"""Tie-out: does what the sync wrote still agree, in money, on both sides?"""
