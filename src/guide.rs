//! Documentation only: corun for a user of `asyncio.run`, piece by piece. The text lives in
//! `guide.md`, so that it reads the same on a code host as in rustdoc; every snippet in it is a
//! doctest.
#![doc = include_str!("guide.md")]
