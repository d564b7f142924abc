# One image for every process of the platform (writer node, projector, query API); the command
# picks the process. Node 24 runs the TypeScript sources directly (type stripping).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force
COPY common ./common
COPY writer ./writer
COPY projector ./projector
COPY query-api ./query-api
COPY migrations ./migrations
USER node
CMD ["node", "--disable-warning=TimeoutNegativeWarning", "writer/server.ts"]
