package web

// HasLatinWords is hasLatinWords (i18n_test.go) for the browser tests of package web_test, so text
// on the page is judged with the same allow-list of technical names as the catalogues.
var HasLatinWords = hasLatinWords
