from hashtag_index.cli import main

main()
