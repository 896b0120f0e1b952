from streamscope.app.cli import main

main()
